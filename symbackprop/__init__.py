"""symbackprop: the mathematics of neural networks, derived symbolically.

Build a network in the book's notation, derive its gradients two ways
(directly and by the δ recurrence), prove them equal, typeset them and
compile them to NumPy.

>>> from symbackprop import Network, delta_route, verify
>>> net = Network([12, 3, 2])
>>> delta_route(net).gradients[net.symbol("w^2_11")]
delta^2_1*x_1
>>> verify(net).ok
True
"""

from .calculus.approximation import approximation, steepest_descent
from .calculus.descent import gradient_descent, learning_rate_effect
from .calculus.lagrange import lagrange
from .calculus.minimum import minimum
from .documents.backprop import network_derivation
from .documents.derivation import Derivation, Step
from .documents.graph import model_derivation
from .engine.batchnorm import BatchNormNetwork
from .engine.cnn import ConvolutionalNetwork
from .engine.model import Model
from .engine.model_file import read_model
from .engine.network import LayeredModel, Network
from .engine.recurrent import RecurrentNetwork
from .engine.routes import (
    ChainRuleExpansion,
    DeltaRoute,
    DirectRoute,
    chain_rule_expansion,
    count_paths,
    delta_route,
    direct_route,
    expression_size,
)
from .errors import (
    ArgumentError,
    DataError,
    ExpressionError,
    NetworkSpecError,
    NoSolutionError,
    NotDifferentiableError,
    ParameterFileError,
    SizeLimitError,
    SymbackpropError,
    UnknownNameError,
)
from .functions.activations import Activation, get_activation
from .functions.costs import Cost, get_cost
from .functions.parsing import parse_expression
from .layers.dense import Dense
from .layers.protocol import Layer
from .notation.latex import book_latex
from .numeric.array_form import derive_arrays
from .numeric.arrays import ArrayModel, compile_arrays, verify_arrays
from .numeric.batchnorm_arrays import BatchNormArrays
from .numeric.catalogue import load_dataset
from .numeric.cnn_arrays import CNNArrays
from .numeric.datafile import read_data_file
from .numeric.export import export_source, write_export
from .numeric.optimizers import Adam, ExponentialDecay, GradientDescent, Momentum, StepDecay
from .numeric.params import load_params, save_params
from .numeric.recurrent_arrays import RecurrentArrays
from .numeric.scalar import CompiledGradient, ScalarModel, compile_scalar
from .numeric.train import TrainingResult, accuracy, train
from .numeric.trainable import Trainable
from .proof.backprop_check import BackpropReport, check_backprop
from .proof.claims import ClaimsReport, check_claims
from .proof.diagnose import ClaimDiagnosis, diagnose
from .proof.verify import VerificationReport, prove_equal, verify, verify_claim

__version__ = "0.1.0"

__all__ = [
    "BackpropReport",
    "ClaimDiagnosis",
    "ClaimsReport",
    "check_backprop",
    "check_claims",
    "diagnose",
    "BatchNormArrays",
    "BatchNormNetwork",
    "RecurrentArrays",
    "RecurrentNetwork",
    "CNNArrays",
    "ConvolutionalNetwork",
    "Derivation",
    "Step",
    "network_derivation",
    "model_derivation",
    "Model",
    "read_model",
    "ArrayModel",
    "ScalarModel",
    "Trainable",
    "TrainingResult",
    "accuracy",
    "compile_arrays",
    "derive_arrays",
    "export_source",
    "write_export",
    "load_dataset",
    "load_params",
    "save_params",
    "train",
    "verify_arrays",
    "Adam",
    "ExponentialDecay",
    "GradientDescent",
    "Momentum",
    "StepDecay",
    "read_data_file",
    "Activation",
    "ArgumentError",
    "ChainRuleExpansion",
    "CompiledGradient",
    "Cost",
    "DataError",
    "DeltaRoute",
    "Dense",
    "DirectRoute",
    "ExpressionError",
    "Layer",
    "LayeredModel",
    "Network",
    "NetworkSpecError",
    "NoSolutionError",
    "NotDifferentiableError",
    "ParameterFileError",
    "SizeLimitError",
    "SymbackpropError",
    "UnknownNameError",
    "VerificationReport",
    "approximation",
    "book_latex",
    "chain_rule_expansion",
    "compile_scalar",
    "count_paths",
    "delta_route",
    "direct_route",
    "expression_size",
    "get_activation",
    "get_cost",
    "gradient_descent",
    "lagrange",
    "learning_rate_effect",
    "minimum",
    "parse_expression",
    "prove_equal",
    "steepest_descent",
    "verify",
    "verify_claim",
]

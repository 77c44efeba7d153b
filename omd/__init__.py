"""Optimal Model Design (OMD) in JAX: the library shared by the three suites."""

from omd import implicit

__all__ = ["implicit"]
__version__ = "0.1.0"

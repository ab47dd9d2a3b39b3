"""worldsim: a JAX/Flax codebase for training and probing a physics-aware audio-video world simulator.

See DESIGN.md in the shared folder and README.md for the map of the package.
"""

__version__ = "0.1.0"

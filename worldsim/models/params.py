"""How every model parameter is made: initialised and annotated with logical axis names.

The annotation (`nnx.with_partitioning`) is what the rule table turns into a sharding.
Flax applies it eagerly, which needs a mesh; off-mesh (unit tests on a bare device,
a notebook) the annotation is kept as metadata but not applied, so models build and
run anywhere (STACK_NOTES pitfall 2).
"""

import jax
from flax import nnx


def annotated_param(
    rngs: nnx.Rngs, init, shape: tuple[int, ...], axes: tuple[str | None, ...]
) -> nnx.Param:
    """A parameter of `shape` from `init`, annotated with one logical name per axis."""
    eager = not jax.sharding.get_abstract_mesh().empty
    return nnx.Param(nnx.with_partitioning(init, axes)(rngs.params(), shape), eager_sharding=eager)

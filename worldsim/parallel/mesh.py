"""The device mesh: four named axes, sized from the config.

Every run uses the same four mesh axes so that one logical-axis rule table
(`worldsim.parallel.rules`) works on any hardware; an axis of size 1 simply does
nothing. Sizes come from the config as a dict, with at most one axis set to -1
meaning "whatever devices are left", so the same config runs on 8 fake CPU
devices and on a pod.
"""

from collections.abc import Mapping, Sequence

import jax
import numpy as np
from jax.experimental import mesh_utils

# data: pure data parallelism (replicated params); fsdp: data parallelism with
# params sharded (ZeRO-3); tensor: Megatron-style head/MLP sharding;
# sequence: context parallelism over tokens.
MESH_AXES: tuple[str, ...] = ("data", "fsdp", "tensor", "sequence")


def resolve_mesh_shape(shape: Mapping[str, int], num_devices: int) -> tuple[int, ...]:
    """Turns `{"data": 2, "fsdp": -1}` into one size per axis of `MESH_AXES`.

    Missing axes default to 1; a single -1 absorbs the remaining devices. Errors
    name the offending axis because a wrong mesh is otherwise only discovered as
    an opaque XLA failure minutes into compilation.
    """
    unknown = [name for name in shape if name not in MESH_AXES]
    if unknown:
        raise ValueError(f"Unknown mesh axis {unknown[0]!r}; mesh axes are {MESH_AXES}.")
    sizes = {name: int(shape.get(name, 1)) for name in MESH_AXES}
    for name, size in sizes.items():
        if size == 0 or size < -1:
            raise ValueError(f"Mesh axis {name!r} has size {size}; use a positive size or -1.")
    rest = [name for name, size in sizes.items() if size == -1]
    if len(rest) > 1:
        raise ValueError(f"Only one mesh axis may be -1, got {rest}.")
    fixed = int(np.prod([size for size in sizes.values() if size != -1]))
    if rest:
        if num_devices % fixed:
            raise ValueError(
                f"Mesh axis {rest[0]!r}=-1: the other axes use {fixed} devices, "
                f"which does not divide {num_devices} devices."
            )
        sizes[rest[0]] = num_devices // fixed
    elif fixed != num_devices:
        raise ValueError(
            f"Mesh shape {sizes} uses {fixed} devices but {num_devices} are available; "
            "set one axis to -1 to absorb the rest."
        )
    return tuple(sizes[name] for name in MESH_AXES)


def make_mesh(
    shape: Mapping[str, int], devices: Sequence[jax.Device] | None = None
) -> jax.sharding.Mesh:
    """Builds the 4-axis mesh with `Auto` axis types (GSPMD propagation).

    `jax.make_mesh` defaults to `Explicit` axes, under which the unannotated
    matmuls of our models fail to type-check (STACK_NOTES pitfall 1), so we ask
    for `Auto`. Passing `devices` (e.g. an AOT TPU topology's devices) builds the
    mesh from those instead of the local backend's.
    """
    if devices is None:
        dims = resolve_mesh_shape(shape, jax.device_count())
        return jax.make_mesh(
            dims, MESH_AXES, axis_types=(jax.sharding.AxisType.Auto,) * len(MESH_AXES)
        )
    devices = list(devices)
    dims = resolve_mesh_shape(shape, len(devices))
    device_grid = mesh_utils.create_device_mesh(dims, devices)  # [data, fsdp, tensor, sequence]
    return jax.sharding.Mesh(
        device_grid, MESH_AXES, axis_types=(jax.sharding.AxisType.Auto,) * len(MESH_AXES)
    )

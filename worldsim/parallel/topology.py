"""Compile a step for a TPU slice on a CPU-only machine; report per-chip memory and FLOPs.

With libtpu installed (`pip install "jax[tpu]==<jax version>"`, no TPU attached),
`jax.experimental.topologies.get_topology_desc` hands out compile-only devices for
any slice. A step jitted with shardings over a mesh of those devices lowers and
compiles exactly as it would on the pod, so memory and out-of-memory are known
before a reservation is spent. This is how MaxText's `train_compile.py` works
(STACK_NOTES, "Compiling for a TPU pod on a CPU-only machine").

    spec = parse_slice("v5p-128")
    mesh = make_mesh({"fsdp": -1}, devices=topology_devices(spec))
    abstract = jax.ShapeDtypeStruct(shape, dtype, sharding=NamedSharding(mesh, pspec))
    report = compile_report(jax.jit(step, in_shardings=..., donate_argnums=0), (...), spec)
    print(format_report(report, flops_per_step=analytic_flops))

What the compiler reports (measured with jax/jaxlib 0.10.2, libtpu 0.0.42.1):

* `memory_analysis()` figures are per chip. `peak_memory_in_bytes` is XLA's
  buffer-assignment peak: arguments, outputs and live temporaries at the worst
  point, with donated (aliased) buffers counted once. That is what the TPU
  compiler checks against HBM. `argument + output + temp - alias` is only an upper
  bound: a v5e step that the compiler accepted (peak 14.3 GiB of 15.75 GiB) summed
  to 17.4 GiB, more than the chip has. The temp figure counts buffers that are
  never live at the same moment.
* `cost_analysis()["flops"]` is per chip: the FLOPs of the SPMD-partitioned
  program that each chip runs. An FSDP MLP step gave 1.08e10 on 4 chips and
  6.8e8 on 64, which is the analytic global count divided by the chip count.
  It counts what the chip executes, including recomputation that the compiler adds
  to fit memory, so MFU should use an analytic count.
* `cost_analysis()` counts a `lax.scan` body once, whatever the trip count (see
  `scan_corrected_flops`).
* `Lowered.cost_analysis()` (before compiling) returns None for a TPU topology. On
  CPU it returns global, pre-optimisation figures that also count a scan body once.
  It is of no use here. Compiling is what costs time (lowering takes about 0.05 s).
* The compiler refuses a program that does not fit with `JaxRuntimeError:
  RESOURCE_EXHAUSTED`, in one of two forms: a quick pre-check ("... required for
  HLO temporaries (X G) exceeds available HBM (Y G)") or, after full compilation,
  "CompileTimeHbmOom ... Used X of Y hbm. Exceeded hbm capacity by Z". Either way
  `compile_report` returns `fits=False` with the figures parsed from the message.
  The units are binary (G = GiB).
"""

import dataclasses
import importlib.util
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax

from worldsim.errors import WorldsimError

_KIB, _MIB, _GIB = 2**10, 2**20, 2**30


@dataclasses.dataclass(frozen=True)
class SliceSpec:
    """One TPU slice, as `get_topology_desc` needs it, plus per-chip limits."""

    name: str  # canonical, e.g. "v5p-512"
    generation: str  # "v5p" | "v6e" | "v5e" | "v4"
    num_chips: int
    topology_name: str  # e.g. "v5:4x8x8"
    chip_config_name: str  # "megacore" (v5p, v4) or "default" (v6e, v5e)
    chips_per_host_bounds: tuple[int, int, int]
    wrap: tuple[bool, bool, bool]  # torus wrap-around per dimension
    hbm_bytes_per_chip: int  # HBM the compiler lets one program use (see _GENERATIONS)
    peak_flops_per_chip: float  # bf16 dense, FLOP/s


@dataclasses.dataclass(frozen=True)
class _Generation:
    topology_prefix: str
    chip_config_name: str
    cores_per_chip: int  # what the slice name counts per chip
    shapes: dict[int, tuple[int, ...]]  # chips -> topology dimensions
    hbm_bytes_per_chip: int
    peak_flops_per_chip: float


def _shapes(names: str) -> dict[int, tuple[int, ...]]:
    """Chips -> topology dimensions, from names: "2x2x1 2x2x2" -> {4: (2, 2, 1), 8: ...}."""
    dims = [tuple(int(n) for n in name.split("x")) for name in names.split()]
    return {math.prod(d): d for d in dims}


# Standard slice shapes (Cloud TPU docs; MaxText `accelerator_to_spec_map.py`).
_CUBES = "2x2x1 2x2x2 2x2x4 2x4x4 4x4x4 4x4x8 4x4x12 4x8x8 4x8x12 8x8x8 8x8x12 8x8x16 8x16x16"
_SHAPES_V5P = _shapes(_CUBES + " 16x16x16")
_SHAPES_V4 = _shapes(_CUBES)
_SHAPES_2D = _shapes("1x1 2x2 2x4 4x4 4x8 8x8 8x16 16x16")

# HBM: what libtpu 0.0.42.1 reports as "available HBM" when it refuses a program:
# physical HBM less what the runtime reserves (258 MiB of 16 GiB on v5e). A donated
# replicated array a few MiB smaller compiles, so this is the limit that matters.
# v5p and v4 are megacore: one JAX device per chip, two TensorCores counted in the
# slice name. `chip_config_name="default"` gives the same devices on v5p but two
# per chip on v4, which `mesh_utils` refuses. Peak bf16 dense FLOP/s per chip from
# the Cloud TPU system-architecture pages.
_GENERATIONS: dict[str, _Generation] = {
    "v5p": _Generation("v5", "megacore", 2, _SHAPES_V5P, int(95.74 * _GIB), 459e12),
    "v6e": _Generation("v6e", "default", 1, _SHAPES_2D, int(31.25 * _GIB), 918e12),
    "v5e": _Generation("v5e", "default", 1, _SHAPES_2D, int(15.75 * _GIB), 197e12),
    "v4": _Generation("v4", "megacore", 2, _SHAPES_V4, int(30.75 * _GIB), 275e12),
}
_ALIASES = {"v5litepod": "v5e"}
_SLICE_RE = re.compile(r"^\s*(v5p|v6e|v5e|v5litepod|v4)-(\d+)\s*$", re.IGNORECASE)


def _accepted_forms() -> str:
    lines = []
    for gen, g in _GENERATIONS.items():
        sizes = ", ".join(str(c * g.cores_per_chip) for c in g.shapes)
        unit = "TensorCores (2 per chip)" if g.cores_per_chip == 2 else "chips"
        lines.append(f"  {gen}-N, N in {{{sizes}}} ({unit})")
    return "\n".join(lines)


def parse_slice(name: str) -> SliceSpec:
    """`"v5p-512"` -> the SliceSpec for 256 v5p chips in a 4x8x8 torus.

    As in Cloud TPU names, the number counts TensorCores on v5p and v4 (two per
    chip) and chips on v6e and v5e. Only standard slice shapes are accepted; an
    unknown name is an error that lists the accepted ones.
    """
    match = _SLICE_RE.match(name)
    gen_name = _ALIASES.get(match.group(1).lower(), match.group(1).lower()) if match else None
    gen = _GENERATIONS.get(gen_name) if gen_name else None
    count = int(match.group(2)) if match else 0
    chips, rest = divmod(count, gen.cores_per_chip) if gen else (0, 1)
    if gen is None or rest or chips not in gen.shapes:
        raise ValueError(f"Unknown TPU slice {name!r}. Accepted forms:\n{_accepted_forms()}")
    dims = gen.shapes[chips]
    if len(dims) == 3:
        # A full 3-D torus once every side has 4 chips (a cube); smaller slices are meshes.
        wrap = (min(dims) >= 4,) * 3
        host_bounds = (2, 2, 1)
    else:
        # 2-D slices get wrap-around links only along sides of 16 chips.
        wrap = (dims[0] == 16, dims[1] == 16, False)
        host_bounds = (1, 1, 1) if chips == 1 else (2, 2, 1)
    return SliceSpec(
        name=f"{gen_name}-{count}",
        generation=gen_name,
        num_chips=chips,
        topology_name=f"{gen.topology_prefix}:{'x'.join(map(str, dims))}",
        chip_config_name=gen.chip_config_name,
        chips_per_host_bounds=host_bounds,
        wrap=wrap,
        hbm_bytes_per_chip=gen.hbm_bytes_per_chip,
        peak_flops_per_chip=gen.peak_flops_per_chip,
    )


class LibtpuMissing(WorldsimError):
    """libtpu (the TPU compiler) is not installed, so no TPU topology can be made."""


def _install_hint() -> str:
    return (
        "Compiling for a TPU slice needs libtpu (the TPU compiler; no TPU has to be "
        "attached). Install it into this environment with:\n"
        f'    pip install "jax[tpu]=={jax.__version__}"\n'
        'or, from the repository root, `pip install -e ".[tpu]"`. '
        "The libtpu wheel is about 210 MB (680 MB installed)."
    )


def _libtpu_installed() -> bool:
    """Where JAX itself looks: $TPU_LIBRARY_PATH, else the `libtpu` package."""
    path = os.environ.get("TPU_LIBRARY_PATH")
    if path and os.path.isfile(path):
        return True
    return importlib.util.find_spec("libtpu") is not None


def topology_devices(spec: SliceSpec) -> list:
    """Compile-only devices for every chip of `spec`, in the topology's order.

    Works in a process whose JAX backend is CPU: the TPU plugin is loaded next to
    it. libtpu logs a few "could not determine TPU accelerator type" lines to
    stderr when it loads on a machine with no TPU; they are harmless.
    """
    from jax.experimental.topologies import get_topology_desc

    if not _libtpu_installed():
        raise LibtpuMissing(_install_hint())
    # libtpu takes /tmp/libtpu_lockfile when it loads, so a second process compiling at
    # the same time (or any process that let JAX probe for a TPU) gets "ABORTED ...
    # lockfile". Compile-only devices touch no hardware, so several loads are safe.
    os.environ.setdefault("ALLOW_MULTIPLE_LIBTPU_LOAD", "1")
    try:
        desc = get_topology_desc(
            platform="tpu",
            topology_name=spec.topology_name,
            chip_config_name=spec.chip_config_name,
            chips_per_host_bounds=spec.chips_per_host_bounds,
            num_slices=1,
            wrap=spec.wrap,
        )
    except RuntimeError as err:
        if "TPU support not installed" in str(err):
            raise LibtpuMissing(_install_hint()) from err
        raise
    devices = list(desc.devices)
    if len(devices) != spec.num_chips:
        raise RuntimeError(
            f"{spec.name}: expected {spec.num_chips} devices, libtpu made {len(devices)} "
            f"for {spec.topology_name!r} with chip config {spec.chip_config_name!r}."
        )
    return devices


@dataclasses.dataclass(frozen=True)
class CompileReport:
    """What XLA says about one compiled step on one slice; all bytes are per chip.

    When the compiler refuses the program (`oom_message` set), the byte figures
    are those the message states, and 0 where it states none.
    """

    slice: SliceSpec
    argument_bytes: int
    output_bytes: int
    temp_bytes: int
    alias_bytes: int  # outputs written into donated arguments, counted in both
    generated_code_bytes: int
    # XLA's buffer-assignment peak (`peak_memory_in_bytes`): arguments + outputs +
    # temporaries live at the worst moment, donated buffers once. Falls back to
    # argument + output + temp - alias (an upper bound) when XLA reports no peak. On
    # OOM: the bytes the compiler said it needed.
    peak_bytes: int
    flops: float | None  # per chip, from cost_analysis(); a scan body counted once
    fits: bool
    compile_seconds: float
    oom_message: str | None  # XLA's RESOURCE_EXHAUSTED message when it refused

    @property
    def upper_bound_bytes(self) -> int:
        """argument + output + temp - alias: what a naive sum of the parts gives."""
        return self.argument_bytes + self.output_bytes + self.temp_bytes - self.alias_bytes


def compile_report(
    jitted: Callable[..., Any], abstract_args: tuple, spec: SliceSpec
) -> CompileReport:
    """`jitted.lower(*abstract_args).compile()` and the per-chip figures of the result.

    `abstract_args` are `jax.ShapeDtypeStruct`s whose shardings live on a mesh of
    `topology_devices(spec)`. An out-of-memory refusal from XLA comes back as
    `fits=False`, not as an exception; any other error propagates.
    """
    start = time.perf_counter()
    try:
        compiled = jitted.lower(*abstract_args).compile()
    except jax.errors.JaxRuntimeError as err:
        if "RESOURCE_EXHAUSTED" not in str(err):
            raise
        oom = _oom_report(str(err), spec, time.perf_counter() - start)
        if not oom.argument_bytes:  # the short message states none: count the shards
            oom = dataclasses.replace(oom, argument_bytes=_argument_bytes(abstract_args))
        return oom
    seconds = time.perf_counter() - start

    mem = compiled.memory_analysis()
    parts = {
        "argument_bytes": int(mem.argument_size_in_bytes),
        "output_bytes": int(mem.output_size_in_bytes),
        "temp_bytes": int(mem.temp_size_in_bytes),
        "alias_bytes": int(mem.alias_size_in_bytes),
        "generated_code_bytes": int(mem.generated_code_size_in_bytes),
    }
    peak = int(getattr(mem, "peak_memory_in_bytes", 0) or 0)
    if peak <= 0:
        peak = (
            parts["argument_bytes"]
            + parts["output_bytes"]
            + parts["temp_bytes"]
            - parts["alias_bytes"]
        )
    # On a TPU target the compiler has already checked the program against the
    # chip's real HBM; elsewhere (CPU, in tests) compare with the slice's figure.
    fits = _platform(compiled) == "tpu" or peak <= spec.hbm_bytes_per_chip
    return CompileReport(
        slice=spec,
        **parts,
        peak_bytes=peak,
        flops=_flops(compiled),
        fits=fits,
        compile_seconds=seconds,
        oom_message=None,
    )


def _argument_bytes(abstract_args: tuple) -> int:
    """Per-chip bytes of the arguments, from their shardings' shard shapes (unpadded)."""
    total = 0
    for leaf in jax.tree.leaves(abstract_args):
        shape, dtype = getattr(leaf, "shape", None), getattr(leaf, "dtype", None)
        itemsize = getattr(dtype, "itemsize", None)
        if shape is None or not itemsize:
            continue
        sharding = getattr(leaf, "sharding", None)
        local = sharding.shard_shape(tuple(shape)) if sharding is not None else shape
        total += math.prod(local) * itemsize
    return total


def _platform(compiled) -> str:
    for sharding in jax.tree.leaves(compiled.input_shardings):
        return next(iter(sharding.device_set)).platform
    return jax.default_backend()


def _flops(compiled) -> float | None:
    cost = compiled.cost_analysis()
    if isinstance(cost, Sequence) and not isinstance(cost, str):  # older jax: [dict]
        cost = cost[0] if cost else None
    flops = cost.get("flops") if isinstance(cost, dict) else None
    return float(flops) if flops is not None and flops >= 0 else None


_SIZE = r"([\d.]+)\s*([KMGT]?)i?B?"
_UNITS = {"": 1, "K": _KIB, "M": _MIB, "G": _GIB, "T": 2**40}


def _size(pattern: str, text: str) -> int | None:
    match = re.search(pattern.replace("SIZE", _SIZE), text)
    if match is None:
        return None
    value, unit = match.groups()[-2:]
    return int(float(value) * _UNITS[unit.upper()])


def _oom_report(message: str, spec: SliceSpec, seconds: float) -> CompileReport:
    """Figures from either RESOURCE_EXHAUSTED form (examples in the module docstring)."""
    # Pre-check form: "... required for HLO temporaries (17.69G) exceeds available HBM (15.75G)."
    needed = _size(r"required for [^(]*\(SIZE\)", message)
    if needed is None:
        # Full form: "Used 15.75G of 15.75G hbm. Exceeded hbm capacity by 2.17M."
        used = _size(r"Used [\d.]+\s*[KMGT]?i?B? of SIZE hbm", message)
        over = _size(r"Exceeded hbm capacity by SIZE", message)
        if used is not None and over is not None:
            needed = used + over
    output = _size(r"Output size SIZE", message) or 0
    return CompileReport(
        slice=spec,
        argument_bytes=_size(r"\n\s*arguments\s+SIZE", message) or 0,
        output_bytes=output,
        temp_bytes=_size(r"HLO temp\s+SIZE", message) or 0,
        alias_bytes=_size(r"shares SIZE with arguments", message) or 0,
        generated_code_bytes=0,
        peak_bytes=needed or 0,
        flops=None,
        fits=False,
        compile_seconds=seconds,
        oom_message=message,
    )


def scan_corrected_flops(flops_depth1: float, flops_depth2: float, depth: int) -> float:
    """FLOPs of a `depth`-layer model from compiles at depth 1 and 2: F1 + (L-1)(F2-F1).

    XLA's cost analysis counts a `lax.scan` body once, whatever the trip count, so
    a scanned model's FLOPs do not grow with depth. Feed this UNROLLED compiles
    (`nnx.scan(..., unroll=True)` or a Python loop) of the same model at depths 1
    and 2, per chip or global, and it returns the same kind. Scanned compiles do
    not work. Measured on a v5p topology (per chip, fwd+bwd of tanh(h @ w)):

        depth              1       2       4       8
        scanned          6.8e7   1.02e8  1.02e8  1.03e8   (depth 1: loop removed)
        unrolled         6.8e7   1.69e8  3.72e8  7.75e8

    Scanned depth 1 and 2 do differ, because XLA removes a one-trip loop, but the
    slope is wrong. From the unrolled pair this gives 7.77e8 at depth 8 (measured
    7.75e8). The extrapolation stays exact when layer 1 is cheaper than the others
    (here it needs no input gradient), because each added layer costs a full layer.
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    if flops_depth2 < flops_depth1:
        raise ValueError(
            f"depth-2 FLOPs {flops_depth2:.4g} < depth-1 FLOPs {flops_depth1:.4g}; "
            "pass unrolled compiles of the same model at depths 1 and 2"
        )
    return flops_depth1 + (depth - 1) * (flops_depth2 - flops_depth1)


def _human_bytes(n: float) -> str:
    for unit, size in (("GiB", _GIB), ("MiB", _MIB), ("KiB", _KIB)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.0f} B"


def _largest_allocations(message: str, limit: int = 3) -> list[str]:
    """'size  shape  op' for the first entries of XLA's 'Largest program allocations'."""
    out = []
    for block in message.split("Size: ")[1 : limit + 1]:
        size = block.split("\n", 1)[0].strip()
        shape = re.search(r"Shape: (\S+)", block)
        op = re.search(r'op_name="([^"]+)"', block)
        out.append(f"{size:>9}  {shape.group(1) if shape else '?'}  {op.group(1) if op else ''}")
    return out


def format_report(
    report: CompileReport, *, flops_per_step: float | None = None, label: str = ""
) -> str:
    """A table for humans: per-chip memory against HBM, FLOPs, and a FITS verdict.

    `flops_per_step` is an analytic count for one step on the whole slice (e.g.
    `frame_predictor.flops_per_step`). It is printed beside XLA's figure, which
    undercounts scanned layers (`scan_corrected_flops`).
    """
    spec = report.slice
    hbm = spec.hbm_bytes_per_chip
    title = f"{spec.name} ({spec.num_chips} chips, {spec.topology_name})"
    lines = [f"AOT compile for {title}{' - ' + label if label else ''}"]
    lines.append(f"  compile time        {report.compile_seconds:8.1f} s")
    lines.append(f"  {'per chip':<18}{'size':>12}{'of HBM':>9}")

    refused = report.oom_message is not None

    def row(name: str, n: int) -> None:
        if refused and not n:  # not stated in XLA's message
            lines.append(f"  {name:<18}{'-':>12}")
        else:
            lines.append(f"  {name:<18}{_human_bytes(n):>12}{100 * n / hbm:>8.1f}%")

    row("arguments", report.argument_bytes)
    row("outputs", report.output_bytes)
    row("temporaries", report.temp_bytes)
    row("aliased (donated)", report.alias_bytes)
    if not refused:
        row("args+outs+temps-al", report.upper_bound_bytes)
    row("peak" if not refused else "needed", report.peak_bytes)
    lines.append(f"  {'HBM per chip':<18}{_human_bytes(hbm):>12}")

    chips = spec.num_chips
    if report.flops is not None:
        lines.append(
            f"  FLOPs/step (XLA)    {report.flops:.3e} per chip, {report.flops * chips:.3e} total"
        )
    if flops_per_step is not None:
        lines.append(
            f"  FLOPs/step (given)  {flops_per_step / chips:.3e} per chip, "
            f"{flops_per_step:.3e} total"
        )
    per_chip = flops_per_step / chips if flops_per_step is not None else report.flops
    if per_chip:
        seconds = per_chip / spec.peak_flops_per_chip
        lines.append(
            f"  step time at peak   {seconds * 1e3:.3f} ms "
            f"({spec.peak_flops_per_chip / 1e12:.0f} TFLOP/s bf16 per chip, 100% MFU)"
        )

    if report.fits:
        lines.append(
            f"FITS: peak {_human_bytes(report.peak_bytes)} of {_human_bytes(hbm)} per chip "
            f"({100 * report.peak_bytes / hbm:.1f}%), "
            f"{_human_bytes(hbm - report.peak_bytes)} free"
        )
    else:
        verdict = f"DOES NOT FIT: {_human_bytes(hbm)} per chip available"
        if report.peak_bytes:
            verdict += (
                f", needs {_human_bytes(report.peak_bytes)} "
                f"({100 * report.peak_bytes / hbm:.0f}%, "
                f"{_human_bytes(report.peak_bytes - hbm)} over)"
            )
        lines.append(verdict)
        if report.oom_message:
            first = report.oom_message.strip().splitlines()[0]
            lines.append(f"  XLA: {first[:300]}")
            allocations = _largest_allocations(report.oom_message)
            if allocations:
                lines.append("  largest allocations:")
                lines.extend(f"    {a}" for a in allocations)
    return "\n".join(lines)

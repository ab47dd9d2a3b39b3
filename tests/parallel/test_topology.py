"""AOT compilation for TPU slices: slice names, reports, and real compiles when libtpu is here.

Slice parsing, report formatting, the OOM-message parser, FLOPs extrapolation and
the missing-libtpu error need no TPU compiler. The compiles for a v5p/v5e topology
need libtpu, which `make test` installs (`pip install "jax[tpu]==<jax version>"`);
they are not skipped without it. They run in-process: the TPU compiler loads next to
the CPU backend.
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from worldsim.parallel import make_mesh, topology
from worldsim.parallel.topology import (
    CompileReport,
    LibtpuMissing,
    compile_report,
    format_report,
    parse_slice,
    scan_corrected_flops,
    topology_devices,
)

GIB, MIB = 2**30, 2**20

# From libtpu 0.0.42.1 (the full form trimmed to the first allocation, trailing
# spaces dropped).
OOM_SHORT = (
    "RESOURCE_EXHAUSTED: Ran out of memory on HBM, the total memory required for HLO "
    "temporaries (17.69G) exceeds available HBM (15.75G)."
)
OOM_FULL = """RESOURCE_EXHAUSTED: E1000: CompileTimeHbmOom: XLA:TPU compile permanent error. \
Ran out of memory in memory space hbm. Used 15.75G of 15.75G hbm. Exceeded hbm capacity by 2.17M.

Total hbm usage >= 16.00G:
    reserved        258.00M
    program          14.76G
    arguments       1016.00M

Output size 160.00M; shares 160.00M with arguments.

Program hbm requirement 14.76G:
    global           160.5K
    HLO temp         14.75G (100.0% utilization: Unpadded (13.04G) Padded (13.04G), 11.6% \
fragmentation (1.71G))
    overlays          6.74M

  Largest program allocations in hbm:

  1. Size: 3.34G
     Operator: op_name="jit(step)/jvp()/dot_general"
     Shape: f32[109568,8192]{1,0:T(8,128)}
     Unpadded size: 3.34G
     Allocation type: HLO temp
     ==========================
"""


@pytest.mark.parametrize(
    "name, chips, topology_name, chip_config, wrap",
    [
        ("v5p-8", 4, "v5:2x2x1", "megacore", (False, False, False)),
        ("v5p-128", 64, "v5:4x4x4", "megacore", (True, True, True)),
        ("v5p-512", 256, "v5:4x8x8", "megacore", (True, True, True)),
        ("v5p-2048", 1024, "v5:8x8x16", "megacore", (True, True, True)),
        ("v6e-256", 256, "v6e:16x16", "default", (True, True, False)),
        ("v6e-128", 128, "v6e:8x16", "default", (False, True, False)),
        ("v5e-256", 256, "v5e:16x16", "default", (True, True, False)),
        ("v5e-4", 4, "v5e:2x2", "default", (False, False, False)),
        ("v4-8", 4, "v4:2x2x1", "megacore", (False, False, False)),
        ("v4-128", 64, "v4:4x4x4", "megacore", (True, True, True)),
    ],
)
def test_parse_slice_counts_tensorcores_on_v5p_v4_and_chips_on_v6e_v5e(
    name, chips, topology_name, chip_config, wrap
):
    spec = parse_slice(name)
    assert (spec.name, spec.num_chips, spec.topology_name) == (name, chips, topology_name)
    assert (spec.chip_config_name, spec.wrap) == (chip_config, wrap)
    assert spec.generation == name.split("-")[0]
    assert math.prod(int(d) for d in topology_name.split(":")[1].split("x")) == chips


def test_parse_slice_normalises_and_knows_per_chip_limits():
    assert parse_slice(" V5P-512 ") == parse_slice("v5p-512")
    assert parse_slice("v5litepod-16").name == "v5e-16"
    hbm = [parse_slice(n).hbm_bytes_per_chip / GIB for n in ("v5p-8", "v6e-4", "v5e-4", "v4-8")]
    assert hbm == pytest.approx([95.74, 31.25, 15.75, 30.75])  # what XLA calls available
    assert parse_slice("v6e-4").peak_flops_per_chip == 918e12


@pytest.mark.parametrize(
    "bad", ["v5p-7", "v5p-12", "v6e-3", "v4-8192", "v7-8", "v5p", "tpu-v5p-8", "v5p512", ""]
)
def test_parse_slice_rejects_unknown_names_listing_accepted_forms(bad):
    with pytest.raises(ValueError, match="Accepted forms") as info:
        parse_slice(bad)
    assert "v5p-N" in str(info.value) and "TensorCores" in str(info.value)


def test_topology_devices_without_libtpu_says_how_to_install(monkeypatch):
    monkeypatch.setattr(topology, "_libtpu_installed", lambda: False)
    with pytest.raises(LibtpuMissing, match=rf'pip install "jax\[tpu\]=={jax.__version__}"'):
        topology_devices(parse_slice("v5p-8"))


def _report(**overrides) -> CompileReport:
    fields = dict(
        slice=parse_slice("v5p-128"),
        argument_bytes=3 * GIB,
        output_bytes=3 * GIB,
        temp_bytes=10 * GIB,
        alias_bytes=3 * GIB,
        generated_code_bytes=2 * MIB,
        peak_bytes=12 * GIB,
        flops=2.0e12,
        fits=True,
        compile_seconds=12.3,
        oom_message=None,
    )
    return CompileReport(**(fields | overrides))


def test_format_report_shows_per_chip_memory_flops_and_fits():
    text = format_report(_report(), flops_per_step=1.28e14, label="WS-S fsdp")
    assert "v5p-128 (64 chips, v5:4x4x4) - WS-S fsdp" in text
    assert "12.00 GiB" in text and "12.5%" in text  # peak against 95.74 GiB
    assert "13.00 GiB" in text  # args + outputs + temps - aliased
    assert "2.000e+12 per chip, 1.280e+14 total" in text  # XLA, per chip x 64
    assert "2.000e+12 per chip, 1.280e+14 total" in text.split("(given)")[1]
    assert "4.357 ms" in text  # 2e12 / 459e12 FLOP/s
    assert text.splitlines()[-1].startswith("FITS: peak 12.00 GiB of 95.74 GiB")


@pytest.mark.parametrize(
    "message, needed, arguments, temps",
    [(OOM_SHORT, 17.69 * GIB, 0, 0), (OOM_FULL, 15.75 * GIB + 2.17 * MIB, 1016 * MIB, 14.75 * GIB)],
)
def test_oom_messages_are_parsed_into_figures(message, needed, arguments, temps):
    report = topology._oom_report(message, parse_slice("v5e-4"), 0.4)
    assert not report.fits and report.oom_message == message and report.flops is None
    assert report.peak_bytes == pytest.approx(needed, rel=1e-6)
    assert (report.argument_bytes, report.temp_bytes) == pytest.approx((arguments, temps))
    text = format_report(report)
    assert "DOES NOT FIT: 15.75 GiB per chip available, needs" in text
    assert "XLA: RESOURCE_EXHAUSTED" in text
    if message is OOM_FULL:
        assert (report.output_bytes, report.alias_bytes) == (160 * MIB, 160 * MIB)
        assert "3.34G  f32[109568,8192]{1,0:T(8,128)}  jit(step)/jvp()/dot_general" in text


def test_compile_report_on_cpu_compares_peak_with_the_slice_hbm():
    """Without a TPU target the compiler never refuses, so `fits` is peak <= HBM."""
    x = jax.ShapeDtypeStruct((512, 1024), jnp.float32)  # 2 MiB
    jitted = jax.jit(lambda a: a @ a.T)
    spec = parse_slice("v5e-4")
    report = compile_report(jitted, (x,), spec)
    assert report.fits and report.oom_message is None
    assert report.argument_bytes == 2 * MIB and report.output_bytes == MIB
    assert report.peak_bytes >= 3 * MIB
    assert report.flops == pytest.approx(2 * 512 * 512 * 1024, rel=0.01)
    tiny = dataclasses.replace(spec, hbm_bytes_per_chip=MIB)
    assert not compile_report(jitted, (x,), tiny).fits


def test_scan_corrected_flops_extrapolates_linearly():
    assert scan_corrected_flops(10.0, 25.0, 1) == 10.0
    assert scan_corrected_flops(10.0, 25.0, 8) == 10.0 + 7 * 15.0
    with pytest.raises(ValueError, match="unrolled"):
        scan_corrected_flops(25.0, 10.0, 8)
    with pytest.raises(ValueError, match="depth"):
        scan_corrected_flops(10.0, 25.0, 0)


def _layer_stack_flops(depth: int, unroll: bool) -> float:
    """Per-device FLOPs XLA counts for fwd+bwd through `depth` scanned tanh layers."""

    def loss(ws, x):
        h, _ = jax.lax.scan(lambda h, w: (jnp.tanh(h @ w), None), x, ws, unroll=unroll)
        return jnp.mean(h**2)

    ws = jax.ShapeDtypeStruct((depth, 64, 64), jnp.float32)
    x = jax.ShapeDtypeStruct((32, 64), jnp.float32)
    return jax.jit(jax.grad(loss)).lower(ws, x).compile().cost_analysis()["flops"]


def test_cost_analysis_counts_a_scan_body_once_so_extrapolate_unrolled_compiles():
    scanned = [_layer_stack_flops(d, unroll=False) for d in (2, 4)]
    assert scanned[1] == pytest.approx(scanned[0], rel=0.05)  # depth does not show
    f1, f2, f6 = (_layer_stack_flops(d, unroll=True) for d in (1, 2, 6))
    assert f6 > 4 * f1
    assert scan_corrected_flops(f1, f2, 6) == pytest.approx(f6, rel=0.02)


# --- real compiles for a TPU topology (need libtpu, no TPU) ---------------------------


def test_topology_devices_has_one_device_per_chip():
    for name, kind in [("v5p-2048", "TPU v5"), ("v4-8", "TPU v4"), ("v6e-256", "TPU v6 lite")]:
        devices = topology_devices(parse_slice(name))
        assert len(devices) == parse_slice(name).num_chips
        assert devices[0].platform == "tpu" and devices[0].device_kind == kind


def _mlp_step(params, x):
    def loss(p):
        return jnp.mean((jnp.tanh(x @ p["w1"]) @ p["w2"]) ** 2)

    grads = jax.grad(loss)(params)
    return jax.tree.map(lambda p, g: p - 1e-3 * g, params, grads)


def test_fsdp_mlp_step_compiles_for_v5p_with_per_chip_figures():
    spec = parse_slice("v5p-8")
    mesh = make_mesh({"fsdp": -1}, devices=topology_devices(spec))
    b, d, m = 256, 512, 1024
    p_sh = {"w1": NamedSharding(mesh, P("fsdp", None)), "w2": NamedSharding(mesh, P(None, "fsdp"))}
    x_sh = NamedSharding(mesh, P("fsdp", None))
    params = {
        "w1": jax.ShapeDtypeStruct((d, m), jnp.float32, sharding=p_sh["w1"]),
        "w2": jax.ShapeDtypeStruct((m, d), jnp.float32, sharding=p_sh["w2"]),
    }
    x = jax.ShapeDtypeStruct((b, d), jnp.float32, sharding=x_sh)
    jitted = jax.jit(_mlp_step, in_shardings=(p_sh, x_sh), out_shardings=p_sh, donate_argnums=0)

    report = compile_report(jitted, (params, x), spec)

    assert report.fits and report.oom_message is None
    param_bytes = 2 * d * m * 4
    assert report.argument_bytes == (param_bytes + b * d * 4) // 4  # sharded over 4 chips
    assert report.alias_bytes == param_bytes // 4  # donated params updated in place
    # cost_analysis is per chip: fwd 2 matmuls + bwd 3 (no gradient for x), over 4 chips.
    assert report.flops == pytest.approx(5 * 2 * b * d * m / 4, rel=0.05)
    assert "FITS" in format_report(report)


def test_replicated_param_larger_than_v5e_hbm_comes_back_as_does_not_fit():
    spec = parse_slice("v5e-4")
    mesh = make_mesh({"data": -1}, devices=topology_devices(spec))
    big = jax.ShapeDtypeStruct((20 * GIB // 4,), jnp.float32, sharding=NamedSharding(mesh, P()))

    report = compile_report(jax.jit(lambda w: w * 2.0), (big,), spec)

    assert not report.fits
    assert "RESOURCE_EXHAUSTED" in report.oom_message and "HBM" in report.oom_message
    assert report.peak_bytes == 40 * GIB  # input and output, both replicated
    assert report.argument_bytes == 20 * GIB  # counted from the sharding
    assert "DOES NOT FIT" in format_report(report)

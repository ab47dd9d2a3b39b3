"""The world-model experiment configs: they load, validate and build their shapes.

Fast (no compile): the pod configs' dry runs take minutes on a 2-core CPU and are
measured by benchmarks/world_dry_runs.py instead. What is checked here is what a
dry run would otherwise be the first to catch: shapes, the mesh for the slice, the
batch split, and that each docstring's parameter count is still the model's.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from worldsim.models import av_dit
from worldsim.parallel import MESH_AXES, resolve_mesh_shape
from worldsim.parallel.topology import parse_slice
from worldsim.recipes import moved_fields
from worldsim.train.config import load_config
from worldsim.train.settings import ConfigError
from worldsim.world.model import model_configs
from worldsim.world.settings import STAGES, validate_world
from worldsim.world.spec import sized_without_data
from worldsim.world.tasks import stage_task

REPO = Path(__file__).resolve().parents[2]
CPU_CONFIGS = [REPO / "experiments/tiny_cpu.py", REPO / "experiments/cpu_physics.py"]
WORLD_CONFIGS = sorted(REPO.glob("experiments/wm_*.py")) + CPU_CONFIGS
POD_CONFIGS = [p for p in WORLD_CONFIGS if "--topology" in p.read_text()]


def _load(path: Path):
    config, _ = load_config(["--config", str(path)])
    return config


def _docstring(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text())) or ""


def _topology(path: Path) -> str:
    match = re.search(r"--dry-run --topology (\S+)", _docstring(path))
    assert match, f"{path.name}: the docstring names no `--dry-run --topology SLICE` command"
    return match.group(1)


def test_the_pod_configs_are_found():
    names = {p.name for p in POD_CONFIGS}
    assert {"wm_b_v5p128.py", "wm_xl_v5p2048.py"} <= names
    assert "wm_s_gpu.py" in {p.name for p in WORLD_CONFIGS}


@pytest.mark.parametrize("path", WORLD_CONFIGS, ids=lambda p: p.name)
def test_config_loads_validates_and_builds_its_spec(path):
    config = _load(path)
    assert config.model.kind == "world_model"
    world = validate_world(config)
    assert world.spec.text_len == 0  # the text window comes from the data (the longest caption)
    spec = sized_without_data(world.spec)  # window, latent grid and patch agree
    assert spec.video_tokens > 0 and spec.audio_tokens > 0
    assert spec.clip_frames <= 32  # the physics clips are 2 s at 16 fps
    dit_cfg, text_cfg = model_configs(spec, world.model)
    assert dit_cfg.text_width == text_cfg.width
    for stage, run in world.runs.items():
        assert run.train.steps == config.stages[stage].steps  # the stage's own numbers
        assert run.data.batch_size == config.stages[stage].batch_size
        assert stage_task(stage, spec, world.model).name == stage


@pytest.mark.parametrize(
    "path", [p for p in WORLD_CONFIGS if p not in CPU_CONFIGS], ids=lambda p: p.name
)
def test_bigger_configs_use_the_clips_real_size_and_bf16(path):
    config = _load(path)
    assert config.model.frame_size >= 64
    assert config.train.compute_dtype == "bfloat16"
    assert config.train.param_dtype == "float32"


@pytest.mark.parametrize(
    "path", [p for p in WORLD_CONFIGS if p.name != "tiny_cpu.py"], ids=lambda p: p.name
)
def test_docstring_parameter_count_is_the_models(path):
    world = validate_world(_load(path))
    dit_cfg, _ = model_configs(sized_without_data(world.spec), world.model)
    match = re.search(r"AVDiT\s+([\d,]+)\s+params", _docstring(path))
    assert match, f"{path.name}: the docstring states no 'AVDiT N params'"
    stated = int(match.group(1).replace(",", ""))
    assert av_dit.num_params(dit_cfg) == pytest.approx(stated, rel=0.01)


@pytest.mark.parametrize("path", POD_CONFIGS, ids=lambda p: p.name)
def test_every_stage_batch_splits_over_the_data_parallel_axes(path):
    config = _load(path)
    chips = parse_slice(_topology(path)).num_chips
    world = validate_world(config, num_devices=chips)
    sizes = dict(zip(MESH_AXES, resolve_mesh_shape(dict(config.mesh), chips), strict=True))
    data_parallel = sizes["data"] * sizes["fsdp"]  # the `batch` rule: ("data", "fsdp")
    for stage in STAGES:
        batch = int(config.stages[stage].batch_size)
        assert batch % data_parallel == 0, f"stages.{stage}.batch_size {batch} on {data_parallel}"
    # The transformer's sharded axes divide evenly over the tensor axis.
    dit_cfg, text_cfg = model_configs(sized_without_data(world.spec), world.model)
    for what in (dit_cfg.heads, dit_cfg.mlp_width, text_cfg.heads, text_cfg.mlp_width):
        assert what % sizes["tensor"] == 0


@pytest.mark.parametrize("path", POD_CONFIGS, ids=lambda p: p.name)
def test_mesh_maps_onto_the_slices_torus(path):
    """Each mesh axis must be a product of physical axes (v5p-2048 is 8x8x16: no 4)."""
    pytest.importorskip("libtpu")
    from worldsim.parallel import make_mesh
    from worldsim.parallel.topology import topology_devices

    config = _load(path)
    spec = parse_slice(_topology(path))
    mesh = make_mesh(dict(config.mesh), devices=topology_devices(spec))
    assert mesh.size == spec.num_chips


TINY = REPO / "experiments/tiny_cpu.py"


def test_engine_fields_the_stages_set_are_refused_with_the_field_to_use():
    """`--config.train.steps` on the world model used to be ignored silently (stages win)."""
    with pytest.raises(ConfigError, match=r"'train\.steps' is not read .*stages\.av_dit\.steps"):
        load_config(["--config", str(TINY), "--config.train.steps=2"], moved_fields=moved_fields)
    # An experiment file that sets one is refused too, naming the field to use.
    config = _load(TINY)
    config.unlock()
    config.data.batch_size = 4
    with pytest.raises(ConfigError, match=r"'data\.batch_size' is not read .*stages\.<stage>"):
        validate_world(config)
    # What a stage reads is its own: an override of the stage field reaches the run.
    config = load_config(["--config", str(TINY), "--config.stages.av_dit.steps=70"])[0]
    assert validate_world(config).runs["av_dit"].train.steps == 70


def test_settings_are_typed_and_checked_once():
    config = load_config(["--config", str(TINY), "--config.model.video_kl_weight=0"])[0]
    world = validate_world(config)
    assert isinstance(world.model.video_kl_weight, float)  # an int 0 widened, not cast at use
    assert isinstance(world.runs["av_dit"].train.warmup_steps, int)
    with pytest.raises(ConfigError, match=r"'model\.caption_dropout' = 1\.5"):
        validate_world(
            load_config(["--config", str(TINY), "--config.model.caption_dropout=1.5"])[0]
        )
    with pytest.raises(ConfigError, match=r"'stages\.order'"):
        validate_world(
            load_config(["--config", str(TINY), "--config.stages.order=av_dit,video_vae"])[0]
        )


def test_an_empty_stage_order_is_a_config_error():
    config = load_config(["--config", str(TINY), "--config.stages.order="])[0]
    with pytest.raises(ConfigError, match=r"'stages\.order' is empty"):
        validate_world(config)


def test_a_run_recorded_before_a_field_existed_reads_as_what_it_did():
    """A run's config.json without a field added since reads with ADDED_FIELDS' values (the
    behaviour before the field), not today's recipe defaults; nothing else is filled."""
    from worldsim.world.settings import ADDED_FIELDS, with_added_fields

    config, _ = load_config(["--config", "experiments/cpu_physics.py"])
    old = config.to_dict()
    for path in ADDED_FIELDS:
        group, name = path.split(".")
        del old[group][name]
    import ml_collections

    recorded = ml_collections.ConfigDict(old)
    with pytest.raises(ConfigError, match="missing config field 'model.timestep_mean'"):
        validate_world(recorded)
    world = validate_world(with_added_fields(recorded))
    assert world.model.prediction == "velocity" != config.model.prediction  # the old head
    assert world.model.video_recon == "l1" and world.model.timestep_mean == 0.0
    del old["model"]["preset"]  # a field that was always there stays required
    with pytest.raises(ConfigError, match="missing config field 'model.preset'"):
        validate_world(with_added_fields(ml_collections.ConfigDict(old)))

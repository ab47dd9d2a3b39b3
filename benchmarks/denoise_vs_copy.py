r"""Does the transformer use the given frames? One denoising step against copying the last one.

    python benchmarks/denoise_vs_copy.py --workdir runs/curve2/run [--given 3] \
        [--noise 0.9,0.5,0.2] [--clips 8] [--no-append]

On validation latents of the run (written by the transformer stage, worldsim/world/latents.py),
first-frame layout with `--given` latent frames given (the benchmark gives 5 frames: 3
latents of a time-factor-2 VAE): the target tokens are noised to t, the model predicts the
clean latents once (x0 = x_t - t v), and its squared error per generated latent frame is
printed beside the floor a model gets for free: the last given latent frame copied forward
(the truth is 0). At high noise a sample's layout is decided; a model worse than the copy
there loses the walls and balls the given frames showed. Appends the table to
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from results import command_line, machine, publish  # noqa: E402


def errors(workdir: pathlib.Path, given: int, noise: list[float], clips: int, seed: int = 0):
    """{t: model MSE per generated latent frame}, copy MSE per generated latent frame."""
    import grain
    import jax
    import jax.numpy as jnp
    from flax import serialization

    from worldsim.world import layout as lay
    from worldsim.world.generate import Generator

    gen = Generator(workdir)
    s = gen.spec
    shards = sorted((workdir / "latents" / "validation").glob("*.array_record"))
    if not shards:
        raise SystemExit(f"denoise_vs_copy: no validation latents under {workdir / 'latents'}")
    source = grain.sources.ArrayRecordDataSource([str(p) for p in shards])
    # record 2k is clip k as simulated (2k + 1 its mirror image)
    records = [serialization.msgpack_restore(source[i]) for i in range(0, 2 * clips, 2)]
    if len(records) < clips:
        raise SystemExit(f"denoise_vs_copy: only {len(records)} validation clips")

    def stack(field, dtype=np.float32):
        return jnp.asarray(np.stack([np.asarray(r[field], dtype) for r in records]))

    target_v = lay.video_to_tokens(stack("video_target"), s.video_patch)  # [B, L, Fv]
    target_a = lay.audio_to_tokens(stack("audio_target"), s.audio_patch)  # [B, A, Fa]
    caption = stack("caption", np.int32)
    b = target_v.shape[0]
    x0_v = jnp.concatenate([jnp.zeros_like(target_v), target_v], 1)  # [B, 2L, Fv]
    x0_a = jnp.concatenate([jnp.zeros_like(target_a), target_a], 1)  # [B, 2A, Fa]
    layout = lay.fixed_layout(s, b, "first_frames", given)
    video_pos, audio_pos = lay.positions(s, b)
    frame = np.asarray(s.video_token_latent_frame())  # [L] latent frame of each token
    clean_v = lay.context_mask(layout.video_type, layout.video_valid)[..., None]
    clean_a = lay.context_mask(layout.audio_type, layout.audio_valid)[..., None]
    later = range(given, s.video_latent_grid[0])
    last = target_v[:, frame == given - 1]  # [B, L/t, Fv]: the last given latent frame
    copy = {f: float(jnp.mean((last - target_v[:, frame == f]) ** 2)) for f in later}
    out = {}
    k_v, k_a = jax.random.split(jax.random.key(seed))
    for t in noise:
        noised_v = (1 - t) * x0_v + t * jax.random.normal(k_v, x0_v.shape)
        noised_a = (1 - t) * x0_a + t * jax.random.normal(k_a, x0_a.shape)
        in_v, in_a = jnp.where(clean_v, x0_v, noised_v), jnp.where(clean_a, x0_a, noised_a)
        v_v, _ = gen.model(in_v, in_a, layout, video_pos, audio_pos, jnp.full((b,), t), caption)
        pred = (in_v - t * v_v)[:, s.video_tokens :]  # [B, L, Fv] the model's clean latents
        out[t] = {
            f: float(jnp.mean((pred[:, frame == f] - target_v[:, frame == f]) ** 2)) for f in later
        }
    return out, copy, gen.step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", required=True, help="a trained world model's run directory")
    parser.add_argument("--given", type=int, default=3, help="latent frames given")
    parser.add_argument("--noise", default="0.9,0.5,0.2", help="noise levels t (1 = noise)")
    parser.add_argument("--clips", type=int, default=8, help="validation clips")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args(argv)
    noise = [float(x) for x in args.noise.split(",")]
    if not all(0 < t < 1 for t in noise) or args.given < 1 or args.clips < 1:
        parser.error("--noise values must be in (0, 1); --given and --clips >= 1")
    workdir = pathlib.Path(args.workdir)
    model, copy, step = errors(workdir, args.given, noise, args.clips)
    frames = list(copy)
    lines = [
        "| x0 squared error, latent frame | " + " | ".join(str(f) for f in frames) + " |",
        "|" + "---|" * (len(frames) + 1),
    ]
    for t, row in model.items():
        lines.append(f"| model at t = {t} | " + " | ".join(f"{row[f]:.4f}" for f in frames) + " |")
    lines.append(
        "| copy the last given frame | " + " | ".join(f"{copy[f]:.4f}" for f in frames) + " |"
    )
    command = command_line("denoise_vs_copy.py", argv)
    text = "\n".join(
        [
            f"#### One denoising step vs copying the last given frame: {workdir} (step {step}, {datetime.date.today()})",
            "",
            f"- machine: {machine()}; command: `{command}`; "
            f"{args.clips} validation clips, {args.given} latent frames given; 0 is the truth",
            "",
            *lines,
            "",
        ]
    )
    publish(text, append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())

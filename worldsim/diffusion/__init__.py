"""Diffusion: rectified-flow objective, timestep schedules, ODE samplers, guidance.

Model-agnostic: nothing here imports model code. A model enters only as a
velocity function `v(x_t, t)`.

Convention: x_t = (1 - t) x0 + t noise, t = 0 data, t = 1 noise; the model
predicts v = noise - x0; samplers integrate from t = 1 down to t = 0.
"""

from worldsim.diffusion.flow_matching import (
    drop_captions,
    flow_matching_loss,
    interpolate,
    noised_inputs,
    sample_timesteps,
    token_timesteps,
    velocity_target,
)
from worldsim.diffusion.samplers import (
    VelocityFn,
    cfg_velocity,
    euler_sample,
    guided,
    heun_sample,
    time_grid,
)

__all__ = [
    "VelocityFn",
    "cfg_velocity",
    "drop_captions",
    "euler_sample",
    "flow_matching_loss",
    "guided",
    "heun_sample",
    "interpolate",
    "noised_inputs",
    "sample_timesteps",
    "time_grid",
    "token_timesteps",
    "velocity_target",
]

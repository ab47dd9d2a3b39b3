"""The training engine; it names no model (a recipe in worldsim/recipes/ hands it a `Task`).

Settings declared once with their types and checks (`settings`), experiment configs
(`config`), optimiser and NaN guard (`optim`), metrics (`metrics`), orbax checkpoints
with fallback and resharding (`checkpoint`), the workdir lock (`lock`), the pure
train/eval steps (`step`), the model interface (`tasks`), input from the config
(`inputs`), inference loading without an optimizer (`load`), the loop
(`trainer.train`) and the TPU-pod dry run (`dry_run`).

Modules are imported by their users, not here, so importing one stays cheap.
"""

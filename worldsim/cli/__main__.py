"""`python -m worldsim.cli ...` is `worldsim ...`."""

import sys

from worldsim.cli import main

sys.exit(main())

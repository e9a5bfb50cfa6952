"""``python -m pipelines.sample [OUT_DIR]``: write the synthetic sample folder."""

import sys

from pipelines.sample.write import main

sys.exit(main())

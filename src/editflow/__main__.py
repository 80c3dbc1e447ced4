import sys

from editflow.cli import main

sys.exit(main())

import sys

from issuer.cli import main

sys.exit(main())

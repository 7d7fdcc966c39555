import sys

from issuer.cli.main import main

sys.exit(main())

import sys

from resource_api.cli import main

sys.exit(main())

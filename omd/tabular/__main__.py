import sys

from omd.tabular.cli import main

sys.exit(main())

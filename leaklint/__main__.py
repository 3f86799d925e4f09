from leaklint.cli import main

raise SystemExit(main())

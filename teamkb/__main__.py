from teamkb.cli import main

raise SystemExit(main())

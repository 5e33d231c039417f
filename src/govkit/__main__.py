from govkit.cli import main

main()

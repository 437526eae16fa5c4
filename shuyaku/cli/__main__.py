from shuyaku.cli.main import main

main()

"""`python -m exactlink`."""

from exactlink.cli.app import main

if __name__ == "__main__":
    main()

from esdc_api.cli import main

main()

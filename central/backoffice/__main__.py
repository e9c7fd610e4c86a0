from central.backoffice.cli import backoffice_command

backoffice_command()

from broadcaster.cli import run

run()

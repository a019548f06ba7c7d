"""``broadcaster bench``: broadcaster measured as whole processes, beside baselines run alike.

Nothing is imported here: the command's parser imports ``bench.options``, and importing this
package must not cost ``broadcaster --help`` anything (``tests/test_cli_imports.py``).
"""

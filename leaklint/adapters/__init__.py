"""Front ends hosted by other linters: flake8 and pylint.

Each adapter translates between its host and ``leaklint.engine.check_source``
and decides nothing: the host reads the file, schedules the work, applies its
own suppression comments and selection, and reports its own syntax errors."""

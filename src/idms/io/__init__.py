"""Files in and out: the readers of the spreadsheets people hand in, and the table writers.

* :mod:`idms.io.reader` -- :func:`~idms.io.reader.open_input`, the one door for reading a file;
  :mod:`idms.io.records` what it gives (:class:`~idms.io.records.InputReader`, rows, options);
  :mod:`idms.io.detect` what it found out (:class:`~idms.io.detect.Detected`: encoding, dialect,
  header row).
* :mod:`idms.io.writer` -- :func:`~idms.io.writer.write_table`, the one door for writing a
  table (where a file may be written, its extension, atomic replacement, formula escaping), used
  by :mod:`idms.io.errorfile` (the failed-rows file) and query exports.
* One module per format: :mod:`idms.io.csv`, :mod:`idms.io.xlsx` (both ways) and
  :mod:`idms.io.jsonrows` (exports); :mod:`idms.io.cells` is how a value reads as text.

The package sits in the engine layer, next to ``jobs`` and ``queries``: it knows nothing of
targets, and the engine reads and writes files only through it.
"""

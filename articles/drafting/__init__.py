"""Writing drafts with a writer and checking them: the library both kinds of order share.

- ``checks.py``: the ``Check`` type (name, test, message) and the checks every kind shares;
- ``backlink.py`` and ``article.py``: each kind's brief, prompt, reply schema, assembly and own checks;
- ``report.py``: the one QC report builder;
- ``kinds.py``: each kind as one ``DraftKind`` object the pipeline is handed;
- ``attempts.py``: asking a writer (``articles.writers``) until a draft passes.

Pure functions, no ORM: the order pipeline (``purchases.services.draft_run``) stores the result.
"""

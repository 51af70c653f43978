"""``lrlab serve``: design schedules and read experiments in the browser (``lrlab[web]``).

`lrlab.web.designer` turns spec text into curves and code to copy out, and
`lrlab.web.experiments` reads the stores under a directory (read-only); both need numpy
and the records layer only. `lrlab.web.app` serves them with FastAPI, with the page's
own HTML, JavaScript and CSS from ``static/`` (nothing fetched from elsewhere).
"""

"""Tests of ``lrlab serve``: the designer, the experiment browser, the command, the page."""

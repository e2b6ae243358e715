"""Agents behind one small protocol (``learn``, ``predict``, ``save``, ``load``); they depend on textgym, never the
reverse."""

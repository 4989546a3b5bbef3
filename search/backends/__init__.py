"""Search backends: the embedded index (``embedded``, the default) and an OpenSearch cluster (``opensearch``)."""

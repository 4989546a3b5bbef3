"""The OpenSearch backend: a local cluster (cluster.py) started from jars that Maven fetches once."""

"""Former grab-bag of benchmark helpers, now split by topic; re-exported here only so branches written against
it still import. New code imports from the topic modules: bench.stats, bench.system, bench.workers, bench.scifact."""

from bench.scifact import DEFAULT_SCIFACT, Scifact, doc_text, load_scifact
from bench.stats import percentiles
from bench.system import ROOT, machine, peak_rss_mb, proc_meminfo_gb, proc_status_mb
from bench.workers import free_port, run_worker

__all__ = ["DEFAULT_SCIFACT", "ROOT", "Scifact", "doc_text", "free_port", "load_scifact", "machine", "peak_rss_mb",
           "percentiles", "proc_meminfo_gb", "proc_status_mb", "run_worker"]

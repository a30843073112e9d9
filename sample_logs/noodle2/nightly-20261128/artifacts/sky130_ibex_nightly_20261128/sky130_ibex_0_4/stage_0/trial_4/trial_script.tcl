read_db /snapshot/ibex_core.odb
source /work/eco_gate_cloning.tcl

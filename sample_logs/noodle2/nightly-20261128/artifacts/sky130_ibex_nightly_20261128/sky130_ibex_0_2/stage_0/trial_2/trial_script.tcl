read_db /snapshot/ibex_core.odb
source /work/eco_buffer_insertion.tcl

# scripts/plot_heap.gnuplot - the allocator benchmark's plots (scripts/bench_heap.sh).
#
#   gnuplot -e "dir='build/bench'; n=7" scripts/plot_heap.gnuplot
#
# Reads dir/heap-{throughput,footprint,p999,max}.dat: a header line naming the
# allocators, then one row per workload (or churn working set) with one value
# per allocator, "?" where there is none.  n = number of allocator columns.
# Writes dir/heap-throughput.png (grouped bars, log scale), heap-latency.png
# (churn p99.9 and max against the number of live objects) and heap-footprint.png
# (peak resident / peak live, with the 1.10 target line).

set terminal pngcairo size 1200,600 font ",10" noenhanced
set datafile missing "?"
set key outside right top vertical
set grid ytics

# ---------------------------------------------------------------- throughput
set output dir . "/heap-throughput.png"
set title "Throughput: million allocator calls per second (best of runs; log scale)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [0.05:*]
set xtics nomirror
plot for [i = 2:n + 1] dir . "/heap-throughput.dat" using i:xtic(1) title columnheader(i)

# ---------------------------------------------------------------- latency
set output dir . "/heap-latency.png"
set multiplot layout 1,2 title "Small-object churn: tail latency against the number of live objects (1k-in-256k: 1K replaced in a 256K heap)"
set xlabel "live objects"
set ylabel "ns (log scale)"
set yrange [*:*]
set title "p99.9 (median of runs)"
plot for [i = 2:n + 1] dir . "/heap-p999.dat" using i:xtic(1) title columnheader(i)
set title "max (lowest of runs; mostly preemption on a shared machine)"
plot for [i = 2:n + 1] dir . "/heap-max.dat" using i:xtic(1) title columnheader(i)
unset multiplot

# ---------------------------------------------------------------- footprint
set output dir . "/heap-footprint.png"
set title "Footprint: peak resident memory added / peak live requested bytes (1.10 = target)"
unset xlabel
set ylabel "ratio (log scale)"
set yrange [0.5:*]
set arrow 1 from graph 0, first 1.1 to graph 1, first 1.1 nohead lw 2 dt 2 lc rgb "red" front
plot for [i = 2:n + 1] dir . "/heap-footprint.dat" using i:xtic(1) title columnheader(i)

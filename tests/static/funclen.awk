# funclen.awk - prints "LINES FILE:LINE NAME" for every function definition
# in C files written in the house style (the opening brace of a function
# alone at the start of a line, the closing one too).
/^[A-Za-z_].*\(/ && !/;[[:space:]]*$/ { sig = $0; sigline = FNR }
/^\{/ { if (sig != "") { start = FNR; name = sig; sline = sigline } }
/^\}/ { if (start) { n = FNR - sline + 1; sub(/\(.*/, "", name); k = split(name, w, /[ *]+/);
        printf "%d %s:%d %s\n", n, FILENAME, sline, w[k]; start = 0; sig = "" } }

# shellcheck shell=sh
# dtr-ha: reading DTR's storage settings document on the host (POSIX sh and awk only: DTR hosts need not have jq).
# Constant text. Which shapes the document may have, and why more than one, is said once, in ../settings.ts; the
# builders there call storage_fields with those places.

# json_paths: one "path<TAB>value" line per value of the JSON document on stdin; object keys joined by ".", array items
# by index; an object itself is printed with the value "{" (so a key holding an object is seen). Only \" \\ \/ are
# unescaped, so every value stays on one line. Exit 2 when the input is not one JSON value.
json_paths() {
  awk '
    function ws() { while (i <= n && index(" \t\r\n", substr(s, i, 1)) > 0) i++ }
    function str(   out, c) {
      i++; out = ""
      while (i <= n) {
        c = substr(s, i, 1)
        if (c == "\\") {
          c = substr(s, i + 1, 1)
          if (c != "\"" && c != "\\" && c != "/") c = "\\" c
          out = out c; i += 2; continue
        }
        if (c == "\"") { i++; return out }
        out = out c; i++
      }
      bad = 1; return out
    }
    function value(path,   c, k, idx, v) {
      ws(); c = substr(s, i, 1)
      if (c == "{" || c == "[") {
        i++; idx = 0
        if (path != "") print path "\t{"
        ws()
        if (substr(s, i, 1) == (c == "{" ? "}" : "]")) { i++; return }
        while (i <= n && !bad) {
          ws()
          if (c == "{") {
            if (substr(s, i, 1) != "\"") { bad = 1; return }
            k = str(); ws()
            if (substr(s, i, 1) != ":") { bad = 1; return }
            i++
          } else k = idx++
          value(path == "" ? k : path "." k)
          ws(); v = substr(s, i, 1); i++
          if (v == (c == "{" ? "}" : "]")) return
          if (v != ",") { bad = 1; return }
        }
        bad = 1; return
      }
      if (c == "\"") { v = str(); print path "\t" v; return }
      v = ""
      while (i <= n && index(",}] \t\r\n", substr(s, i, 1)) == 0) { v = v substr(s, i, 1); i++ }
      if (v == "") bad = 1
      print path "\t" v
    }
    { s = s $0 "\n" }
    END { n = length(s); i = 1; bad = 0; value(""); ws(); if (bad || i <= n) exit 2 }
  '
}

# storage_fields PLACE...: "name<TAB>value" lines for driver, bucket, region, rootdirectory, regionendpoint of the
# settings document on stdin, whose driver object is found under the first PLACE that has exactly one ('' is the top
# level). The general keys beside the driver (delete, maintenance, redirect, cache) are not drivers. A field the
# document lacks is empty. Exit 1 when stdin is not JSON.
storage_fields() {
  sf_paths=$(json_paths) || return 1
  for sf_at in "$@"; do
    sf_out=$(printf '%s\n' "$sf_paths" | awk -F '\t' -v at="$sf_at" '
      BEGIN { p = (at == "" ? "" : at ".") }
      { v[$1] = $2 }
      substr($1, 1, length(p)) == p && $2 == "{" {
        k = substr($1, length(p) + 1)
        if (index(k, ".") == 0 && k != "delete" && k != "maintenance" && k != "redirect" && k != "cache") { d = k; count++ }
      }
      END {
        if (count != 1) exit 1
        print "driver\t" d
        split("bucket region rootdirectory regionendpoint", f, " ")
        for (j = 1; j <= 4; j++) print f[j] "\t" v[p d "." f[j]]
      }') && {
      printf '%s\n' "$sf_out"
      return 0
    }
  done
  printf 'driver\t\nbucket\t\nregion\t\nrootdirectory\t\nregionendpoint\t\n'
}

# field NAME FIELDS: the value of NAME in storage_fields' output.
field() {
  printf '%s\n' "$2" | awk -F '\t' -v k="$1" '$1 == k { print substr($0, length(k) + 2); exit }'
}

# storage_describe FIELDS: "s3 bucket=... region=... rootdirectory=... regionendpoint=..." for messages.
storage_describe() {
  printf '%s bucket="%s" region="%s" rootdirectory="%s" regionendpoint="%s"' "$(field driver "$1")" "$(field bucket "$1")" \
    "$(field region "$1")" "$(field rootdirectory "$1")" "$(field regionendpoint "$1")"
}

# storage_differ WANT GOT NAME...: the NAMEs whose values differ, space separated (empty: all equal).
storage_differ() {
  sd_want=$1
  sd_got=$2
  shift 2
  sd_diff=''
  for sd_n in "$@"; do
    [ "$(field "$sd_n" "$sd_want")" = "$(field "$sd_n" "$sd_got")" ] || sd_diff="$sd_diff $sd_n"
  done
  printf '%s' "${sd_diff# }"
}

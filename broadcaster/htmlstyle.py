"""The HTML report's stylesheet, inlined in the page: screen, phone (tables become cards) and
print (colours kept, no section split across pages). The charts' own classes are in
``svgchart.CSS``."""

from __future__ import annotations

CSS = """
:root{--sent:#2f6fd0;--failed:#d64545;--invalid:#e3a008;--skipped:#98a2ad;--retry:#f08c00;
--p429:#b3339a;--pconn:#6a55d8;--ink:#1c2630;--muted:#5f6c7a;--line:#e2e7ed;--bg:#f4f6f9}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);-webkit-print-color-adjust:exact;
print-color-adjust:exact;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1040px;margin:0 auto;padding:28px 16px 40px}
header{padding:0 4px 4px}h1{font-size:30px;line-height:1.2;margin:2px 0 6px}
h1,h3,.sub,td,footer{overflow-wrap:break-word;word-break:break-word}
h2{font-size:17px;margin:0 0 14px}h3{font-size:15px;margin:0}
.eyebrow{margin:0;color:var(--muted);text-transform:uppercase;letter-spacing:.08em;font-size:12px}
.sub,.hint{color:var(--muted);font-size:14px}.sub{margin:4px 0}
section{background:#fff;border:1px solid var(--line);border-radius:12px;padding:20px 22px;
margin:16px 0;break-inside:avoid}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px}
.card{border:1px solid var(--line);border-top:4px solid var(--ink);border-radius:8px;
padding:10px 14px;color:var(--muted);font-size:14px}
.card .n{display:block;font-size:28px;font-weight:650;color:var(--ink)}
.n,.num,.stats .v{font-variant-numeric:tabular-nums}
.card.sent{border-top-color:var(--sent)}.bar .sent{background:var(--sent)}
.card.failed{border-top-color:var(--failed)}.bar .failed{background:var(--failed)}
.card.invalid{border-top-color:var(--invalid)}.bar .invalid{background:var(--invalid)}
.card.skipped{border-top-color:var(--skipped)}.bar .skipped{background:var(--skipped)}
.bar{display:flex;height:14px;border-radius:7px;overflow:hidden;background:var(--line);
margin:16px 0 8px}
.check{margin:0;color:var(--muted);font-size:14px}.warn{color:var(--failed);font-weight:600}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:8px 24px;margin:0}
dt{color:var(--muted)}dd{margin:0}
.left{border-left:4px solid var(--sent);padding:4px 0 4px 14px;margin:0 0 18px}
.left.unknown{border-left-color:var(--failed)}.left:last-child{margin-bottom:0}
.tags{display:flex;flex-wrap:wrap;gap:6px;list-style:none;padding:0;margin:10px 0}
.tags li{background:var(--bg);border-radius:99px;padding:2px 10px;font-size:13px}
.tags li.some{background:#fdecc8}.note{margin:6px 0 0;font-size:14px}
code,pre,.mono{font-family:ui-monospace,"SF Mono",Menlo,Consolas,"DejaVu Sans Mono",monospace;
font-size:13px}
pre{background:#16202b;color:#e8eef5;padding:10px 14px;border-radius:8px;margin:8px 0;
white-space:pre-wrap;overflow-wrap:break-word}pre span{white-space:nowrap}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;font-weight:600;text-transform:uppercase;letter-spacing:.05em;
color:var(--muted);white-space:nowrap}
.num{text-align:right}td .mono{display:block;color:var(--muted)}
.examples{list-style:none;margin:0;padding:0}.examples li{margin:0 0 6px}
.err{display:block;font-size:13px;color:var(--muted)}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(72px,1fr));gap:8px;
margin:0 0 14px}
.stats div{background:var(--bg);border-radius:8px;padding:6px 10px}
.stats .l{display:block;font-size:12px;color:var(--muted);text-transform:uppercase}
.stats .v{font-size:17px;font-weight:600;white-space:nowrap}
.empty{color:var(--muted);font-style:italic;margin:0}
footer{color:var(--muted);font-size:13px;padding:0 4px}footer ul{margin:0;padding-left:18px}
@media (max-width:640px){main{padding:16px 10px}section{padding:14px;border-radius:10px}
h1{font-size:24px}.card .n{font-size:22px}dl.facts{grid-template-columns:1fr;gap:0}
dd{margin-bottom:8px}thead{display:none}table,tbody,tr,td{display:block}
tr{border-bottom:1px solid var(--line);padding:6px 0}.stats .v{font-size:15px}
.stats div{padding:6px 8px}
td,td.num{border:0;padding:3px 0;text-align:left}
td::before{content:attr(data-label);display:block;font-size:11px;color:var(--muted);
text-transform:uppercase;letter-spacing:.05em}}
@media print{body{background:#fff;font-size:12px}main{max-width:none;padding:0}
section{border:0;border-bottom:1px solid var(--line);border-radius:0;padding:0 0 12px}
pre{background:#f4f6f9;color:var(--ink)}svg.chart{min-width:0}.scroll{overflow:visible}}
"""

#!/usr/bin/env python3
"""Groups `perf script` samples of a collector by what they were doing.

    perf record -F 4999 --call-graph dwarf,16384 -p <pid> -- sleep 15
    perf script | bench/perf_groups.py

A sample whose innermost frame is in the kernel counts as the kernel's (scheduling, or socket
work); any other goes to the first group below whose pattern matches a frame of its stack, so
the wire walk and the copies are counted before the HTTP/2 task that called them.
"""
import collections
import re
import sys

user=[('wire walk (check + count)',r'wire::fast|wire::Walker'),('batch append (Concat)',r'split::Concat|BatchProcessor::hold'),
('gRPC export encode/copy',r'codec::encode|EncodeBody|RawEncoder|MessageBody'),('tonic decode buffer',r'tonic::codec::decode'),
('request handling: HTTP/2, headers, gRPC, hand-off to the pipeline',r'h2::|hyper::'),
('pipeline and exporter tasks',r'weir_core::runtime::pipeline|weir_processors|weir_exporters'),('tokio scheduler',r'tokio::runtime'),('allocation',r'malloc|free|realloc')]
c = collections.Counter()
cur = []
total = 0
def flush():
    global total
    if not cur: return
    total+=1
    if '[kernel' in cur[0][1]:
        s='\n'.join(f for f,_ in cur)
        if re.search(r'epoll_wait|schedule|futex',s) and not re.search(r'sendmsg|recvmsg|writev|recvfrom',s): c['kernel: scheduling, waiting']+=1
        else: c['kernel: socket send/receive (incl. loopback delivery)']+=1
        return
    s='\n'.join(f for f,_ in cur)
    for name,pat in user:
        if re.search(pat,s): c[name]+=1; return
    c['other user space']+=1
for line in sys.stdin:
    line=line.rstrip()
    if not line: flush(); cur=[]; continue
    if line[0] not in ' \t': continue
    parts=line.strip().split(' ',1)
    if len(parts)==2:
        sym,_,obj=parts[1].rpartition(' (')
        cur.append((sym,obj))
flush()
for k,n in c.most_common(): print(f"{100*n/total:5.1f}%  {k}")
print('samples',total)

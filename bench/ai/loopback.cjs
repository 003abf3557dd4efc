// Preloaded into Portkey's gateway (node -r) by bench/ai_gateway.sh: its start-server listens on
// every interface and has no option for the address, so bind a listen() without a host to 127.0.0.1.
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...a) {
  if (typeof a[0] === 'number' && (a.length === 1 || a[1] === undefined || typeof a[1] === 'function')) {
    if (a.length === 1 || typeof a[1] === 'function') a.splice(1, 0, '127.0.0.1');
    else a[1] = '127.0.0.1';
  }
  return listen.apply(this, a);
};

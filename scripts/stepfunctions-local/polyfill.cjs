// aws-local-stepfunctions@3 calls Promise.withResolvers (Node >= 22). On Node 20 this adds it.
// server.mjs imports this file first; other scripts can use NODE_OPTIONS="--require ./polyfill.cjs".
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new this((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}

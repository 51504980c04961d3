// Placeholder until the demo issue lands: the demo drives the example handlers end to end.
console.log('nhi-dns demo: not yet available (the identity middlewares are still being built).');

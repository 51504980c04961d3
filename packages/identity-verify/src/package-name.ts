/** The package name carried by this package's errors. */
export const PACKAGE_NAME = '@nhi-dns/identity-verify';

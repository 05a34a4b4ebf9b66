/** `Switchboard.version`; a unit test keeps it equal to package.json's version. */
export const WIDGET_VERSION = '0.1.0';

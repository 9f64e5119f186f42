/**
 * fp-ts as the library imports it: by its npm specifier, so that `mod.ts` also loads where this
 * repository's deno.json (whose "imports" map the bare "fp-ts") does not apply, as in a script
 * elsewhere that imports the library by path. The version is deno.json's (tests/library_test.ts
 * checks that every npm specifier in lib/ matches it).
 * @module
 */
export { either, function, taskEither } from "npm:fp-ts@^2.16.11";

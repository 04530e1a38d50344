/** The ISBN rules catalog uses; they live in platform/isbn.ts because search applies the same ones. */
export { toIsbn13, isValidIsbn10, isValidIsbn13, isbn10To13, isbn13To10 } from "../platform/isbn";

// Lint: the TypeScript recommended rules; formatting is prettier's job.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["bin/**", "**/node_modules/**", "**/bin/**", "**/dist/**", "tools/**"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        rules: {
            // Tests read mocked resource inputs, which are untyped by nature.
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-require-imports": "off",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
        },
    },
);

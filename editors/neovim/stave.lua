-- Stave workflow files in Neovim (0.10+): put in ~/.config/nvim/plugin/stave.lua
-- (docs/editor-setup.md). Starts `stave lsp` for both forms in any project with a stave.yaml.
vim.filetype.add({ extension = { stave = "stave" } })

vim.api.nvim_create_autocmd("FileType", {
  pattern = { "stave", "yaml" },
  callback = function(args)
    local name = vim.api.nvim_buf_get_name(args.buf)
    if vim.bo[args.buf].filetype == "yaml"
      and not (name:match("%.stave%.ya?ml$") or name:match("stave%.yaml$")) then
      return
    end
    vim.lsp.start({
      name = "stave",
      cmd = { "stave", "lsp", "--stdio" },
      root_dir = vim.fs.root(args.buf, { "stave.yaml" }),
    })
  end,
})
